"""iCal: the public feed behind a secret token, and the page where staff create, rotate or revoke theirs."""

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import links
from portal.calendar import ical_feed
from portal.errors import NotFound
from portal.permissions import Permission, can
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render, see_other


class IcalFeedController(Controller):
    @get("/ical/{feed:str}", name="ical.feed")
    async def feed(self, feed: FromPath[str]) -> Response:
        """The provider's schedule for calendar apps; the token in the URL is the only key."""
        if not feed.endswith(".ics") or len(feed) > 100:
            raise NotFound()
        body = await ical_feed.render_feed(feed.removesuffix(".ics"))
        return Response(content=body, media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'inline; filename="chairside.ics"'})


async def _page(request: Request, actor, new_url: str | None = None) -> Template:
    return render(request, "calendar_feed/account.html", status=200, feed=await ical_feed.feed_status(actor),
                  new_url=new_url, full_names=await ical_feed.full_names_enabled(actor),
                  may_set_full_names=can(actor, Permission.MANAGE_CLINIC))


class CalendarFeedController(Controller):
    path = "/account/calendar-feed"
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/", name="feed.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Whether a feed link exists, and the buttons to make, rotate or revoke it."""
        return await _page(request, actor)

    @post("/rotate", name="feed.rotate")
    async def rotate(self, request: Request, actor: CurrentActor) -> Template:
        """A new secret link, shown once (only its hash is stored)."""
        token = await ical_feed.rotate_token(actor)
        url = links.absolute_url(request.app.state.settings,
                                request.app.route_reverse("ical.feed", feed=f"{token}.ics"))
        return await _page(request, actor, new_url=url)

    @post("/revoke", name="feed.revoke")
    async def revoke(self, request: Request, actor: CurrentActor) -> Redirect:
        """Stop the feed: the old link answers 404 from now on."""
        await ical_feed.revoke_token(actor)
        return see_other(request.app.route_reverse("feed.show"))

    @post("/full-names", name="feed.full_names", guards=[requires(Permission.MANAGE_CLINIC)])
    async def full_names(self, request: Request, actor: CurrentActor) -> Redirect:
        """The owner's clinic-wide choice: initials (default) or full names in every feed."""
        await ical_feed.set_full_names(actor, "enabled" in await request.form())
        return see_other(request.app.route_reverse("feed.show"))
