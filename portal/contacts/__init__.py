"""Contact addresses people are reached at: a new email or mobile number is trusted only after its holder confirmed it.

`changes` owns the rule (every side that changes an address calls `changes.propose`); `notices` sends the
confirmation link or code and tells the previous address, from the worker (it builds links on PUBLIC_URL).
"""
