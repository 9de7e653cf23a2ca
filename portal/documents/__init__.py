"""Documents people print or mail: the one PDF renderer shared by invoices, lab slips, letters and signed forms."""
