"""Domain errors that views turn into pages: 404, 403, 422 and the sign-in throttle."""


class NotFound(Exception):
    """Missing, or belonging to another clinic: the two must look the same."""


class Forbidden(Exception):
    """The actor's role may not do this."""


class ValidationFailed(Exception):
    """Input broke a rule; `errors` maps each field to a message shown beside it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class SignInFailed(Exception):
    """Unknown email, wrong password or inactive account: deliberately indistinguishable."""


class Throttled(Exception):
    """Too many failed sign-ins; `wait_minutes` tells the person how long."""

    def __init__(self, wait_minutes: int):
        super().__init__(f"wait {wait_minutes} minutes")
        self.wait_minutes = wait_minutes


class SlotTaken(ValidationFailed):
    """PostgreSQL refused the booking (chair or provider busy); `alternatives` are the nearest free starts."""

    def __init__(self, errors: dict[str, str], alternatives: list):
        super().__init__(errors)
        self.alternatives = alternatives


class WrongSession(Exception):
    """A staff session on a patient page, or a patient session on a staff page: refused, with a clear page."""

    def __init__(self, has: str):
        super().__init__(has)
        self.has = has  # "staff" | "patient"
