"""The owner's page for background work: queue, failed jobs, periodic runs, dead letters, channels."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from portal.errors import ValidationFailed
from portal.messaging import holds, marketing
from portal.operations import job_status
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class JobsController(Controller):
    path = "/jobs"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    @get("/", name="jobs.overview")
    async def overview(self, request: Request, actor: CurrentActor) -> Template:
        """Queue depth, failures with their error, last periodic runs, dead letters, channels, caught mail."""
        return render(request, "jobs/overview.html", held=await holds.held_messages(actor),
                      **await job_status.overview(actor, request.app.state.settings))

    @post("/{job_id:int}/retry", name="jobs.retry")
    async def retry(self, request: Request, actor: CurrentActor, job_id: FromPath[int]) -> Redirect:
        """Put a failed job back in the queue."""
        await job_status.retry_job(actor, job_id)
        return see_other(f"{request.app.route_reverse('jobs.overview')}#failed")

    @post("/messages/{message_id:int}/resend", name="jobs.resend")
    async def resend(self, request: Request, actor: CurrentActor, message_id: FromPath[int]) -> Redirect:
        """Send a dead letter again."""
        await job_status.resend_message(actor, message_id)
        return see_other(f"{request.app.route_reverse('jobs.overview')}#dead-letters")

    @post("/held/{message_id:int}/release", name="jobs.held_release")
    async def release_held(self, request: Request, actor: CurrentActor, message_id: FromPath[int]) -> Response:
        """Send a message held after a restore."""
        await holds.release(actor, message_id)
        return await self._held(request, actor)

    @post("/held/{message_id:int}/drop", name="jobs.held_drop")
    async def drop_held(self, request: Request, actor: CurrentActor, message_id: FromPath[int]) -> Response:
        """Never send a message held after a restore."""
        await holds.drop(actor, message_id)
        return await self._held(request, actor)

    async def _held(self, request: Request, actor) -> Response:
        """htmx swaps the held list in place; a plain form post goes back to the page."""
        if getattr(request, "htmx", None):
            return render(request, "jobs/overview.html", "jobs/_held.html", held=await holds.held_messages(actor))
        return see_other(f"{request.app.route_reverse('jobs.overview')}#held")

    @get("/news", name="news.form")
    async def news(self, request: Request, actor: CurrentActor) -> Template:
        """Write news by email to the patients who agreed to it."""
        return render(request, "jobs/news.html", form=marketing.CampaignForm(), errors={}, queued=None)

    @post("/news", name="news.send")
    async def send_news(self, request: Request, actor: CurrentActor) -> Template:
        """Queue the campaign (each message carries one-click unsubscribe)."""
        form = await read_form(request, marketing.CampaignForm)
        try:
            queued = await marketing.send_campaign(actor, request.app.state.settings, form)
        except ValidationFailed as exc:
            return render(request, "jobs/news.html", status=422, form=form, errors=exc.errors, queued=None)
        return render(request, "jobs/news.html", form=marketing.CampaignForm(), errors={}, queued=queued)
