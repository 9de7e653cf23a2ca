"""What an htmx swap does with a response: which element a form's request replaces, and the response's root.

Used by the refusal tests: every fragment's root element must be what its form's `hx-target` replaces.
"""

from html.parser import HTMLParser

import httpx

from tests.factories import csrf_token

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[dict] = []
        self.elements: list[dict] = []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "parent": self.stack[-1] if self.stack else None}
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "parent": self.stack[-1] if self.stack else None})

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index]["tag"] == tag:
                del self.stack[index:]
                return


def elements(html: str) -> list[dict]:
    tree = _Tree()
    tree.feed(html)
    return tree.elements


def root(html: str) -> dict:
    """The first top-level element of a response (a full page's is <html>)."""
    return elements(html)[0]


def _closest(element: dict | None, attribute: str) -> str | None:
    while element is not None:
        if attribute in element["attrs"]:
            return element["attrs"][attribute]
        element = element["parent"]
    return None


def swap_target(html: str, action: str) -> str:
    """What submitting the form posting to `action` replaces: a selector, or "body" for a boosted form."""
    forms = [e for e in elements(html) if e["tag"] == "form"
             and action in (e["attrs"].get("hx-post"), e["attrs"].get("action"))]
    assert forms, f"no form posts to {action}"
    form = forms[0]
    if "hx-post" in form["attrs"]:
        return _closest(form, "hx-target") or "this"
    assert _closest(form, "hx-boost") == "true", f"the form posting to {action} is neither htmx nor boosted"
    return "body"


async def post_like_htmx(client: httpx.AsyncClient, page_html: str, current_url: str, action: str,
                         data: dict) -> tuple[str, httpx.Response]:
    """Submit the form as htmx would from the page: (its swap target, the response)."""
    target = swap_target(page_html, action)
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{current_url}"}
    if target == "body":
        headers["HX-Boosted"] = "true"
    else:
        headers["HX-Target"] = target.lstrip("#")
    response = await client.post(action, data={"_csrf_token": await csrf_token(client), **data}, headers=headers)
    return target, response


def assert_swaps_into(target: str, response: httpx.Response) -> None:
    """A boosted form gets a whole page; an htmx form gets a fragment whose root is its target."""
    top = root(response.text)
    if target == "body":
        assert top["tag"] == "html", response.text[:200]
    else:
        assert "#" + top["attrs"].get("id", "") == target, response.text[:300]
