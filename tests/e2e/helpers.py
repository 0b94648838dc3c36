"""What the browser tests share: driving the program editor (Ace, in gradviz's component)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

EDITOR = ".gv-editor"
_ACE = f"document.querySelector('{EDITOR}')?.gvEditor"


def editor(page: Page) -> Locator:
    """The editor component (its Run button, status line and Ace)."""
    return page.locator(EDITOR)


def editor_input(page: Page) -> Locator:
    """The text box Ace types through (focus it to type or press keys)."""
    return editor(page).locator("textarea.ace_text-input")


def program_text(page: Page) -> str:
    """The text in the editor now."""
    return str(page.evaluate(f"() => {_ACE}.getValue()"))


def expect_program(page: Page, text: str, timeout: float = 60_000) -> None:
    """Wait until the editor holds ``text``."""
    page.wait_for_function(f"t => {_ACE}?.getValue() === t", arg=text, timeout=timeout)


def set_program(page: Page, text: str) -> None:
    """Replace the editor's text, as a paste would (nothing runs yet)."""
    editor(page).locator(".ace_content").wait_for()
    page.evaluate(f"t => {_ACE}.setValue(t, -1)", text)


def run_button(page: Page) -> Locator:
    return editor(page).locator("button.gv-editor-run")


def type_and_run(page: Page, program: str) -> None:
    set_program(page, program)
    run_button(page).click()
