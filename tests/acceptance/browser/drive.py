"""Drives cleave's pages in a real Chromium, as a person would, for tests/acceptance/browser.rs.

Usage: python3 drive.py <step> <gateway URL> <screenshot dir> [expected processes]

Steps:
  order-from-explorer  in /docs, registers a user and places an order with "Try it", then
                       finds the order in /dashboard's recent requests and opens its trace,
                       which must reach every expected process (comma-separated).
  payments-down        /dashboard and /health/deployment say that payments is not ready.

Every request the pages make must stay on the gateway's origin: others are refused and
fail the step. A failing step leaves a screenshot of the page in the screenshot dir.
"""

import json
import sys
import time
import uuid
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

# Long enough for a loaded machine; the dashboard polls every second.
TIMEOUT_MS = 10_000


def answer_json(form):
    """The JSON body of the answer a Try it form shows (after its status and headers)."""
    text = form.locator(".answer").inner_text()
    return json.loads(text.split("\n\n", 1)[1])


def send(form, body, status):
    form.locator("textarea[name=body]").fill(json.dumps(body))
    form.locator(".send").click()
    expect(form.locator(".answer")).to_have_attribute("data-status", str(status), timeout=TIMEOUT_MS)
    return answer_json(form)


def order_from_explorer(page, base, shots, expected):
    page.goto(f"{base}/docs")
    # The sidebar's search narrows the operations down.
    page.fill("#search", "post orders")
    expect(page.locator("#place_order")).to_be_visible()
    expect(page.locator("#list_users")).to_be_hidden()
    page.fill("#search", "")
    user = send(page.locator("#create_user .try"),
                {"email": f"browser-{uuid.uuid4().hex[:12]}@example.com", "name": "Ada"}, 201)
    curl = page.locator("#place_order .curl")
    expect(curl).to_contain_text(f"curl -i -X POST '{base}/orders'")
    order = send(page.locator("#place_order .try"),
                 {"user_id": user["id"], "currency": "EUR",
                  "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price_cents": 1999}]}, 201)
    page.locator("#place_order").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "explorer.png"))

    page.goto(f"{base}/dashboard")
    expect(page.locator("#status")).to_have_text("every module ready", timeout=TIMEOUT_MS)
    row = page.locator("#requests tbody tr[data-trace]", has_text="POST /orders").first
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    row.click()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        reached = set(page.locator(".tree div").evaluate_all(
            "lines => lines.map(line => line.dataset.process)"))
        if expected <= reached or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    assert expected <= reached, f"the trace of order {order['id']} reaches {reached}, not {expected}"
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)


def payments_down(page, base, shots, _expected):
    page.goto(f"{base}/dashboard")
    expect(page.locator("#status")).to_contain_text("payments", timeout=TIMEOUT_MS)
    expect(page.locator("#modules tr[data-module=payments]")).to_contain_text("NOT READY", timeout=TIMEOUT_MS)
    expect(page.locator("#map g.proc.down[data-process=payments]")).to_be_visible(timeout=TIMEOUT_MS)
    page.screenshot(path=str(shots / "dashboard-payments-down.png"), full_page=True)
    page.goto(f"{base}/health/deployment")
    health = json.loads(page.locator("body").inner_text())
    payments = next(m for m in health["modules"] if m["module"] == "payments")
    assert health["status"] == "degraded" and not payments["ready"], health
    assert payments["reason"], health


STEPS = {"order-from-explorer": order_from_explorer, "payments-down": payments_down}


def main(step, base, shots, expected):
    shots.mkdir(parents=True, exist_ok=True)
    elsewhere = []
    with sync_playwright() as playwright:
        # The machine's Chromium: nothing is downloaded.
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        context.set_default_timeout(TIMEOUT_MS)

        def only_the_origin(route):
            if route.request.url.startswith(base + "/"):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_origin)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            STEPS[step](page, base, shots, expected)
            assert not elsewhere, f"requests left the origin: {elsewhere}"
            assert not errors, f"the page's script failed: {errors}"
        except BaseException:
            page.screenshot(path=str(shots / f"failed-{step}.png"), full_page=True)
            raise
        finally:
            browser.close()
    print(f"{step}: ok")


if __name__ == "__main__":
    expected = set(filter(None, (sys.argv[4] if len(sys.argv) > 4 else "").split(",")))
    main(sys.argv[1], sys.argv[2].rstrip("/"), Path(sys.argv[3]), expected)
