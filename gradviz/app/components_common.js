// What gradviz's components share (this file is prepended to each one's script).

// An element with a class and text.
function make(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text) el.textContent = text;
  return el;
}

// Whether the page's theme is dark (null: unknown), from the theme Streamlit gives each
// component as CSS custom properties.
function pageIsDark(el) {
  const background = getComputedStyle(el).getPropertyValue("--st-background-color").trim();
  const hex = background.match(/^#([\da-f]{2})([\da-f]{2})([\da-f]{2})/i);
  if (!hex) return null;
  const [r, g, b] = hex.slice(1).map((h) => parseInt(h, 16));
  return 0.299 * r + 0.587 * g + 0.114 * b < 128;
}
