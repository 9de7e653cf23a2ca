"""The calendar: practice set-up, availability, booking and status rules, day and week views, iCal, mail."""
