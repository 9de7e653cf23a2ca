"""Lab work that leaves the practice: the clinic's lab directory and the cases sent to labs, tracked to seating."""
