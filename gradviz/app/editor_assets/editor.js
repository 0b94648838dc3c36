// gradviz's program editor: Ace (loaded above this file as window.ace, with its Python mode
// and dark theme), so Tab indents, Enter keeps the indentation, lines are numbered and a
// failed run's line is marked in the gutter. The program runs only when asked (Run or
// Ctrl+Enter), never because focus moved, so a half-typed program is never run.

const DARK_THEME = "ace/theme/tomorrow_night";
const LIGHT_THEME = "ace/theme/textmate";

class ProgramEditor {
  constructor(root, data) {
    this.root = root;
    this.key = data.key;
    this.program = data.code; // the program the server last ran (or was given)
    this.marks = [];
    root.replaceChildren();
    const bar = make("div", "gv-editor-bar");
    this.runButton = make("button", "gv-editor-run", "▶ Run");
    this.runButton.type = "button";
    this.runButton.title = "Run the program (Ctrl+Enter)";
    this.runButton.addEventListener("click", () => this.run());
    this.status = make("span", "gv-editor-status");
    bar.append(this.runButton, this.status);
    const box = make("div", "gv-editor-box");
    root.append(bar, box);
    this.ace = window.ace.edit(box, {
      mode: "ace/mode/python",
      theme: pageIsDark(root) === true ? DARK_THEME : LIGHT_THEME,
      value: data.code,
      minLines: data.minLines,
      maxLines: data.maxLines,
      tabSize: 4,
      useSoftTabs: true,
      wrap: false,
      showPrintMargin: true,
      printMarginColumn: 80,
      useWorker: false,
      fontFamily: '"Source Code Pro", ui-monospace, SFMono-Regular, Menlo, monospace',
      // Ace's own text box is the one that is focused; it gets the field's accessible name.
      enableKeyboardAccessibility: false,
    });
    this.ace.textInput.getElement().setAttribute("aria-label", "Program");
    this.ace.clearSelection();
    this.ace.commands.addCommand({
      name: "gradvizRun",
      bindKey: { win: "Ctrl-Enter", mac: "Command-Enter|Ctrl-Enter" },
      exec: () => this.run(),
    });
    // Escape leaves the editor for the keyboard user (Tab itself indents).
    this.ace.commands.addCommand({
      name: "gradvizLeave",
      bindKey: { win: "Esc", mac: "Esc" },
      exec: () => this.runButton.focus(),
    });
    this.ace.session.on("change", () => this.edited());
    root.gvEditor = this.ace; // tests and benchmarks type through Ace's own API
  }

  run() {
    this.program = this.ace.getValue();
    this.edited();
    // A trigger, not a state value: pressing Run twice runs twice.
    this.setTriggerValue?.("run", this.program);
  }

  edited() {
    const changed = this.ace.getValue() !== this.program;
    this.status.textContent = changed ? "Edited: Run or Ctrl+Enter runs it" : "";
    this.root.classList.toggle("gv-editor-changed", changed);
  }

  update(data, { setTriggerValue }) {
    this.setTriggerValue = setTriggerValue;
    this.ace.setFontSize(data.fontSize);
    this.ace.setTheme(pageIsDark(this.root) === true ? DARK_THEME : LIGHT_THEME);
    if (data.code !== this.program) {
      // A new program from the server (an example, a shared link): it replaces the text.
      this.program = data.code;
      this.ace.setValue(data.code, -1);
    }
    this.mark(data.error);
    this.edited();
  }

  mark(error) {
    const session = this.ace.session;
    for (const id of this.marks) session.removeMarker(id);
    this.marks = [];
    session.clearAnnotations();
    delete this.root.dataset.errorLine;
    if (!error || this.ace.getValue() !== this.program) return;
    const row = error.line - 1;
    if (row < 0 || row >= session.getLength()) return;
    session.setAnnotations([
      { row, column: Math.max(0, (error.col || 1) - 1), text: error.message, type: "error" },
    ]);
    const Range = window.ace.require("ace/range").Range;
    this.marks.push(session.addMarker(new Range(row, 0, row, 1), "gv-editor-error", "fullLine"));
    this.root.dataset.errorLine = String(error.line);
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".gv-editor");
  if (!root || !data) return;
  let editor = root.gvProgramEditor;
  if (!editor || editor.key !== data.key) {
    editor = root.gvProgramEditor = new ProgramEditor(root, data);
  }
  editor.update(data, { setTriggerValue });
}
