"""The program editor in real Chromium: it indents like a code editor, numbers its lines,
marks a failed run's line, and runs only when asked."""

from __future__ import annotations

import re

import pytest
import torch
from playwright.sync_api import Page, expect

from gradviz.gallery import DEFAULT
from gradviz.model.format import number
from tests.e2e.helpers import (
    editor,
    editor_input,
    expect_no_alert,
    expect_program,
    graph_svg,
    open_app,
    program_text,
    run_button,
    set_program,
)

pytestmark = pytest.mark.e2e

_ACE = "document.querySelector('.gv-editor').gvEditor"


def focus_at_end(page: Page) -> None:
    editor(page).locator(".ace_content").click()
    editor_input(page).press("Control+End")


def test_tab_indents_and_enter_keeps_the_indentation(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    set_program(page, "import torch\n")
    focus_at_end(page)
    page.keyboard.type("def f(x):")
    page.keyboard.press("Enter")  # Python mode indents after the colon
    page.keyboard.type("return x * 2")
    page.keyboard.press("Enter")
    page.keyboard.press("Backspace")  # back to the left margin (soft tabs: one press)
    page.keyboard.press("Tab")
    page.keyboard.type("pass")
    assert program_text(page) == "import torch\ndef f(x):\n    return x * 2\n    pass"
    # Tab stayed in the editor: focus did not move on to a button.
    assert page.evaluate("() => document.activeElement.classList.contains('ace_text-input')")
    # Typing ran nothing, and the editor says the text is not the program run.
    expect(editor(page)).to_contain_text("Edited: Run or Ctrl+Enter runs it")
    page.get_by_role("heading", name="Graph").click()  # focus leaves the editor
    expect(graph_svg(page)).to_contain_text("value 63")  # still the default's graph
    expect_no_alert(page)


def test_lines_are_numbered_and_never_wrapped(page: Page, app_url: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, app_url)
    long_line = "y = x" + " + x" * 40  # 165 columns
    set_program(page, f"import torch\nx = torch.ones(2)\n{long_line}\n")
    gutter = editor(page).locator(".ace_gutter-cell")
    expect(gutter).to_have_count(4)
    assert gutter.all_inner_texts() == ["1", "2", "3", "4"]
    rows = page.evaluate(f"() => {_ACE}.session.getScreenLength()")
    assert rows == 4  # the long line is one screen row: no soft wrapping
    # 80 columns fit without scrolling sideways, the sidebar open, on a projector's width.
    columns = page.evaluate(
        f"""() => {{
            const r = {_ACE}.renderer;
            return (r.scroller.clientWidth) / r.characterWidth;
        }}"""
    )
    assert columns >= 80


def test_a_failed_runs_line_is_marked_in_the_gutter(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    bad = "import torch\nx = torch.ones(2)\ny = x +* 2\n"
    set_program(page, bad)
    run_button(page).click()
    alert = page.get_by_test_id("stAlert").filter(has_text="Syntax error")
    expect(alert).to_contain_text("3:")
    marked = editor(page).locator(".ace_gutter-cell.ace_error")
    expect(marked).to_have_text("3")
    expect(editor(page)).to_have_attribute("data-error-line", "3")
    expect_program(page, bad)  # the text is kept
    # Fixing and running clears the mark.
    fixed = bad.replace("+* 2", "* 2")
    set_program(page, fixed)
    editor_input(page).press("Control+Enter")
    expect_no_alert(page)
    expect(marked).to_have_count(0)


def test_ctrl_enter_runs_and_an_example_replaces_the_text(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    program = DEFAULT.code.replace("tensor(2.0,", "tensor(3.0,")
    set_program(page, program)
    editor_input(page).press("Control+Enter")
    x = torch.tensor(3.0, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    assert x.grad is not None
    expect(graph_svg(page)).to_contain_text(f"grad {number(x.grad.item())}")
    expect(page).to_have_url(re.compile(r"code="))  # the link carries it
    # The Examples box no longer names an example for an edited program...
    box = page.get_by_test_id("stSelectbox").filter(has_text="Examples")
    expect(box.get_by_role("combobox")).to_have_value("")
    box.click()
    page.get_by_role("option", name=DEFAULT.title).click()
    expect_program(page, DEFAULT.code)  # ...and picking one puts it in the editor
    expect(box.get_by_role("combobox")).to_have_value(DEFAULT.title)
    expect(graph_svg(page)).to_contain_text("grad 93")
