"""The patient account: accounts, the append-only ledger, invoices with gapless numbers, statements, payments."""
