"""The clinic switcher: the clinics a signed-in person works at, and moving the session to another of them."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import auth, sessions
from portal.memberships import clinics
from portal.two_factor import totp
from portal.views.guards import CurrentActor, provide_actor, signed_in
from portal.views.pages import render, see_other


async def _identity(request: Request, actor) -> int:
    """Read from the active membership, not the session: the identity moves to another row when the clinic where
    it began lets the person go (portal/memberships/identities.py), and sessions elsewhere carry on."""
    return await clinics.identity_of(actor.id)


class MembershipController(Controller):
    path = "/account/clinics"
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/", name="account.clinics")
    async def index(self, request: Request, actor: CurrentActor) -> Template:
        """Every clinic this person works at, the active one marked."""
        return render(request, "memberships/index.html",
                      memberships=await clinics.memberships(await _identity(request, actor)))

    @post("/{staff_id:int}", name="account.switch")
    async def switch(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Redirect:
        """Act in another of this person's clinics: a fresh session carrying that membership (and its role)."""
        identity = await _identity(request, actor)
        await clinics.switch(actor, identity, staff_id)
        values = {"staff_id": staff_id, "identity": identity, "clinics": len(await clinics.memberships(identity))}
        if await totp.must_enrol(await auth.load_staff_actor(staff_id), request.app.state.settings):
            values["must_enrol"] = True  # this clinic requires a second factor of their role: enrol first
        await sessions.start_session(request, request.app.stores.get("sessions"), values)
        return see_other(request.app.route_reverse("dashboard"))
