"""Headless Debian Chromium driven by Playwright, and the screenshots a UI test leaves behind.

Playwright's own browser download cannot reach the internet here, so the tests drive the system's
Chromium (`make test` installs Debian's package when it is missing). The flags keep Chromium off
the network it cannot reach anyway (update checks, sync, QUIC), which otherwise fills the log with
refused connections and slows every start.
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root on CI machines, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
# Where a UI test's screenshots go (kept after the run, ignored by git).
ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts" / "browser"
# The UI asks once per browser whether to join the community; a fresh profile would ask every
# time and the dialog covers the page. This is the key the UI itself stores on "Skip".
DISMISS_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', 'true')"


class ChromiumMissingError(RuntimeError):
    """No system Chromium: the UI tests cannot run."""


def chromium_path() -> str:
    for candidate in (*CHROMIUM_CANDIDATES, shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    raise ChromiumMissingError(
        "no Chromium found at /usr/bin/chromium: `make test` installs Debian's `chromium` package "
        "(apt-get, as root); on another system install Chromium and link it there"
    )


@contextmanager
def browser_page(user_data_dir: Path) -> Iterator[Page]:
    """One page of a fresh Chromium profile at the test viewport, closed afterwards."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=chromium_path(),
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        try:
            context.add_init_script(DISMISS_COMMUNITY_DIALOG)
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


class Screenshots:
    """Numbered screenshots (the viewport) of one test, in ARTIFACTS/<test name>/."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS / test_name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.taken: list[Path] = []

    def take(self, page: Page, step: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path))
        self.taken.append(path)
        return path
