"""The web console in a real browser (Debian's headless chromium), against the gateway
on a real port, the real support app, broker and Redis: a customer asks and sees the
reply under the identity the gateway gave it, markup in an inquiry stays text, a wrong
console token is refused, two people answer one escalation at once and only one answer
goes out, the customer sees that answer, another browser sees none of it, the KPIs show
figures.

With ``AGENTSTREAM_SCREENSHOTS=docs/console`` the run saves a screenshot of each page
there (chat, console, KPIs, refused sign-in)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from agents.console import create_gateway
from config import Settings
from tests.integration.test_gateway import COMPLAINT, QUESTION, TOKEN, running_support, with_gateway

XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
ANSWER = "We refunded the second charge; sorry for the trouble."
WAIT = 60.0


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    monkeypatch.setenv("SE_OFFLINE", "true")  # never let selenium-manager download
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1100,900")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextlib.asynccontextmanager
async def served(settings: Settings, prefix: str) -> AsyncIterator[str]:
    """The gateway on a free port of 127.0.0.1; its base URL."""
    runner = web.AppRunner(create_gateway(settings, prefix))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class Pages:
    """The browser's steps; blocking, so the test runs them in a thread while the
    gateway and the support app run on the event loop."""

    def __init__(self, driver: WebDriver, base: str, shots: Path | None) -> None:
        self.d = driver
        self.base = base
        self.shots = shots

    def wait_for(self, css: str, text: str | None = None) -> WebElement:
        def found(d: WebDriver) -> WebElement | None:
            for element in d.find_elements(By.CSS_SELECTOR, css):
                if text is None or text in element.text:
                    return element
            return None

        wait = WebDriverWait(self.d, WAIT, ignored_exceptions=[StaleElementReferenceException])
        element = wait.until(found, f"{css} with {text!r}")
        assert element is not None
        return element

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            self.d.save_screenshot(str(self.shots / f"{name}.png"))

    def ask(self, text: str) -> WebElement:
        """Send ``text`` from the chat; the reply that comes back for it."""
        before = len(self.d.find_elements(By.CSS_SELECTOR, "#log li.reply"))
        box = self.d.find_element(By.ID, "text")
        box.send_keys(text)
        self.d.find_element(By.ID, "send").click()
        WebDriverWait(self.d, WAIT).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#log li.reply")) > before
        )
        return self.d.find_elements(By.CSS_SELECTOR, "#log li.reply")[-1]

    def sign_in(self, token: str) -> None:
        self.d.get(f"{self.base}/login")
        self.d.find_element(By.ID, "token").send_keys(token)
        self.d.find_element(By.ID, "login").click()

    def session_cookie(self) -> str | None:
        cookie = self.d.get_cookie("as_session")
        return None if cookie is None else str(cookie["value"])

    def pwned(self) -> object:
        return self.d.execute_script("return window.__pwned;")


def scenario(pages: Pages) -> None:
    d = pages.d
    # The customer asks, and sees the reply; the gateway gave the browser its identity.
    d.get(pages.base + "/")
    assert d.find_element(By.ID, "customer").text == "new"
    reply = pages.ask(QUESTION)
    assert reply.find_element(By.CSS_SELECTOR, ".text").text.strip()
    reference = d.find_element(By.ID, "customer").text
    assert reference.startswith("web-")
    assert d.get_cookie("as_customer") is not None

    # Markup in an inquiry is shown as text and never runs.
    pages.ask(XSS)
    mine = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#log li.customer .text")]
    assert XSS in mine
    assert d.find_elements(By.CSS_SELECTOR, "#log img, #log script") == []
    assert pages.pwned() is None

    # A complaint goes to a person: the customer is told the ticket.
    escalated = pages.ask(COMPLAINT)
    assert "escalated" in str(escalated.get_attribute("class")).split()
    ticket = escalated.find_element(By.CSS_SELECTOR, ".detail").text.split("ticket ")[1]
    ticket = ticket.split(" ·")[0]
    chat = d.current_window_handle

    # A wrong console token is refused, and sets nothing.
    d.switch_to.new_window("tab")
    d.get(f"{pages.base}/login")
    anonymous = pages.session_cookie()
    pages.sign_in("not-the-token")
    pages.wait_for("#error", "Wrong console token.")
    assert pages.session_cookie() == anonymous
    assert d.current_url == f"{pages.base}/login"
    pages.shot("login-refused")

    # The right one signs in; the escalation is there, with the inquiry as text.
    pages.sign_in(TOKEN)
    article = pages.wait_for(f'article[data-ticket="{ticket}"]')
    assert COMPLAINT in article.find_element(By.CSS_SELECTOR, ".inquiry").text
    assert reference in article.find_element(By.CSS_SELECTOR, ".customer").text
    assert pages.pwned() is None
    pages.shot("console")
    first = d.current_window_handle

    # A colleague has the same ticket open in another tab; both write an answer.
    d.switch_to.new_window("tab")
    d.get(f"{pages.base}/agent")
    colleague = pages.wait_for(f'article[data-ticket="{ticket}"]')
    colleague.find_element(By.NAME, "text").send_keys("A second answer, never sent.")
    colleague_tab = d.current_window_handle
    d.switch_to.window(first)
    article.find_element(By.NAME, "text").send_keys(ANSWER)
    article.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    pages.wait_for("#notice", f"Answer sent for ticket {ticket}.")
    assert d.find_elements(By.CSS_SELECTOR, f'article[data-ticket="{ticket}"]') == []
    d.switch_to.window(colleague_tab)  # still showing the ticket: the colleague sends
    colleague.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    pages.wait_for("#notice", f"Ticket {ticket} was answered by someone else")

    # The customer's page shows the person's answer (it polls for it), and only that one.
    d.switch_to.window(chat)
    human = pages.wait_for("#log li.reply.human", ANSWER)
    assert f"ticket {ticket}" in human.find_element(By.CSS_SELECTOR, ".detail").text
    pages.shot("chat")
    time.sleep(3)  # two polls: a second answer would have arrived
    assert len(d.find_elements(By.CSS_SELECTOR, "#log li.reply.human")) == 1

    # Another browser (no identity cookie) sees none of this customer's messages.
    d.delete_cookie("as_customer")
    d.refresh()
    time.sleep(3)
    assert d.find_element(By.ID, "customer").text == "new"
    assert d.find_elements(By.CSS_SELECTOR, "#log li") == []

    # The KPI page shows figures from the quality records.
    d.switch_to.new_window("tab")
    d.get(f"{pages.base}/kpis")
    WebDriverWait(d, WAIT).until(
        lambda d: int(d.find_element(By.CSS_SELECTOR, 'td[data-kpi="records"]').text) >= 3
    )
    rate = d.find_element(By.CSS_SELECTOR, 'td[data-kpi="escalation_rate"]').text
    assert 0 < float(rate) <= 1
    pages.shot("kpis")


async def test_the_console_in_a_browser(settings: Settings, browser: WebDriver) -> None:
    prefix = f"ui{uuid.uuid4().hex[:8]}."
    shots = os.environ.get("AGENTSTREAM_SCREENSHOTS")
    async with running_support(settings, prefix), served(with_gateway(settings), prefix) as base:
        pages = Pages(browser, base, Path(shots) if shots else None)
        await asyncio.to_thread(scenario, pages)
