// gradviz's graph: an SVG laid out on the server, drawn and moved here (svg-pan-zoom and
// components_common.js are loaded above this file). Nothing is laid out in the browser: a step of
// the step-through only restyles the drawing, so no node ever moves between steps.

const MOVED_PX = 4; // a press that moved further than this was a drag, not a click
const READABLE = 0.45; // below this scale a fitted graph's text is unreadable: start at 100%

function titled(svg, selector, aliases) {
  // Graphviz titles each node with its id and each edge "src->dst"; the titles would also
  // show as the browser's own tooltips, so they move into data attributes. A tensor drawn
  // again at another use is titled with a copy's id: `aliases` names the node it stands for.
  const byTitle = new Map();
  for (const g of svg.querySelectorAll(selector)) {
    const title = g.querySelector(":scope > title");
    if (!title) continue;
    const drawn = title.textContent; // an id can be any text, "constructor" too: own keys only
    const key = Object.hasOwn(aliases, drawn) ? aliases[drawn] : drawn;
    title.remove();
    g.dataset.gvId = key;
    if (!byTitle.has(key)) byTitle.set(key, []);
    byTitle.get(key).push(g);
  }
  return byTitle;
}

function canvasHeight(canvas, data) {
  if (!data.fill) return data.height;
  // Presentation: the graph takes the screen left under the controls above it, keeping room
  // for the step's explanation below.
  const top = canvas.getBoundingClientRect().top + window.scrollY;
  const free = window.innerHeight - Math.min(top, data.fillTop) - data.fillBelow;
  return Math.max(data.minHeight, Math.round(free));
}

function bodyTextPx() {
  // Streamlit's body text is 1rem.
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 0;
}

class GraphView {
  constructor(root, data) {
    this.root = root;
    this.key = data.key;
    this.api = {};
    root.replaceChildren();
    root.tabIndex = 0;
    this.canvas = make("div", "gv-canvas");
    this.canvas.innerHTML = data.svg;
    this.tip = make("div", "gv-tip gv-hidden");
    const tools = make("div", "gv-tools");
    for (const [text, title, action] of [
      ["Fit", "Fit the graph (f, or double-click)", () => this.fit()],
      ["100%", "Actual size", () => this.actualSize()],
      ["+", "Zoom in (+)", () => this.zoom?.zoomIn()],
      ["−", "Zoom out (-)", () => this.zoom?.zoomOut()],
    ]) {
      const button = make("button", "", text);
      button.type = "button";
      button.title = title;
      button.addEventListener("click", action);
      tools.append(button);
    }
    root.append(tools, this.canvas, this.tip);
    this.svg = this.canvas.querySelector("svg");
    this.nodes = titled(this.svg, "g.node", data.aliases || {});
    this.edges = titled(this.svg, "g.edge", data.aliases || {});
    this.canvas.style.height = `${canvasHeight(this.canvas, data)}px`;
    this.zoom = null;
    this.first = data;
    this.listen(data);
    this.ready();
  }

  hasSize() {
    return this.canvas.clientWidth > 0 && this.canvas.clientHeight > 0;
  }

  ready() {
    // svg-pan-zoom measures the canvas when it starts: started in a canvas with no size (not
    // laid out yet, or hidden) it keeps a zero scale and every later zoom throws. So it starts
    // once the canvas has a size, with the graph's first view.
    if (this.zoom) return true;
    if (!this.hasSize()) return false;
    this.zoom = window.svgPanZoom(this.svg, {
      zoomEnabled: true,
      dblClickZoomEnabled: false,
      controlIconsEnabled: false,
      fit: true,
      center: true,
      minZoom: 0.02,
      maxZoom: 60,
      zoomScaleSensitivity: 0.3,
    });
    this.startView(this.data || this.first);
    return true;
  }

  startView(data) {
    // Fitted whole, unless that makes it unreadable: a long graph fitted whole is a thin line,
    // so it starts at actual size from its inputs; on a projector its text starts at least as
    // large as the page's body text. Fit (or f) shows it whole.
    this.fit();
    const fitted = this.zoom.getSizes().realZoom;
    let scale = fitted < READABLE ? 1 : fitted;
    if (data.fill) {
      const px = this.textPx();
      const body = bodyTextPx();
      if (px > 0 && px < body) scale = Math.max(scale, (this.zoom.getSizes().realZoom * body) / px);
    }
    if (scale > this.zoom.getSizes().realZoom * 1.01) this.startAt(scale);
  }

  textPx() {
    // The on-screen size of the drawing's text: its font size in SVG units times the scale.
    // svg-pan-zoom applies a zoom on the next frame, so the scale drawn now is corrected by
    // the zoom asked for (read just after fit(), the drawn scale is still the old one).
    const text = this.svg.querySelector("g.node text");
    const viewport = this.svg.querySelector(".svg-pan-zoom_viewport");
    if (!text || !viewport) return 0;
    const drawn = viewport.getCTM()?.a || 1;
    const asked = this.zoom.getSizes().realZoom;
    return (parseFloat(text.getAttribute("font-size") || "0") * text.getScreenCTM().a * asked) / drawn;
  }

  startAt(scale) {
    // At `scale`, from the top of the drawing: centred, or, when wider than the canvas, on
    // its first input as far as the drawing's edges allow (a wide drawing centred can show
    // nothing but the space between its nodes).
    const real = this.zoom.getSizes().realZoom;
    if (real > 0) this.zoom.zoom((this.zoom.getZoom() * scale) / real);
    const sizes = this.zoom.getSizes();
    const box = sizes.viewBox;
    const z = sizes.realZoom;
    let x = (sizes.width - box.width * z) / 2 - box.x * z;
    const top = box.width * z > sizes.width ? this.topNodeX() : null;
    if (top !== null) {
      const leftmost = sizes.width - (box.x + box.width) * z; // the right edge at the right
      x = Math.min(Math.max(sizes.width / 2 - top * z, leftmost), -box.x * z);
    }
    this.zoom.pan({ x, y: 8 - box.y * z });
  }

  topNodeX() {
    // The horizontal middle of the highest node, in the drawing's own units (unchanged by
    // the pan and zoom, which apply to both matrices alike).
    const svgToDrawing = this.svg.querySelector(".svg-pan-zoom_viewport").getCTM().inverse();
    let top = null;
    for (const g of this.svg.querySelectorAll("g.node")) {
      const box = g.getBBox();
      const toViewport = svgToDrawing.multiply(g.getCTM());
      const at = new DOMPoint(box.x + box.width / 2, box.y).matrixTransform(toViewport);
      if (!top || at.y < top.y) top = at;
    }
    return top?.x ?? null;
  }

  listen(data) {
    let pressed = null;
    this.canvas.addEventListener("pointerdown", (e) => {
      pressed = { x: e.clientX, y: e.clientY };
    });
    this.canvas.addEventListener("click", (e) => {
      const moved = pressed && Math.hypot(e.clientX - pressed.x, e.clientY - pressed.y);
      const node = e.target.closest("g.node");
      if (node && !(moved > MOVED_PX)) this.api.setStateValue?.("selected", node.dataset.gvId);
    });
    this.canvas.addEventListener("dblclick", () => this.fit());
    this.pinchZoom();
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => this.tip.classList.add("gv-hidden"));
    this.root.addEventListener("keydown", (e) => this.key_(e));
    this.resized = new ResizeObserver(() => {
      // A hidden canvas is not measured: the drawing keeps its view for when it is shown.
      if (this.hasSize() && this.ready()) this.zoom.resize();
    });
    this.resized.observe(this.canvas);
    this.onWindow = () => {
      const height = canvasHeight(this.canvas, this.data || data);
      if (Math.abs(height - this.canvas.clientHeight) > 2) {
        this.canvas.style.height = `${height}px`;
        if (this.hasSize() && this.ready()) {
          this.zoom.resize();
          this.startView(this.data || data);
        }
      }
    };
    window.addEventListener("resize", this.onWindow);
  }

  pinchZoom() {
    // svg-pan-zoom pans with one finger but has no pinch; two fingers zoom here, about their
    // midpoint. Captured on the canvas, so the library (listening on the svg) never sees a
    // two-finger gesture, nor the lone finger left after it until every finger is up.
    let pinch = null;
    const spread = (t) => Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY);
    const own = (e) => {
      e.stopPropagation();
      e.preventDefault();
    };
    this.canvas.addEventListener("touchstart", (e) => {
      if (e.touches.length < 2) return;
      own(e);
      pinch = { spread: spread(e.touches) };
    }, { capture: true, passive: false });
    this.canvas.addEventListener("touchmove", (e) => {
      if (!pinch) return;
      own(e);
      if (e.touches.length < 2) return;
      const now = spread(e.touches);
      if (pinch.spread > 0 && now > 0) {
        const box = this.svg.getBoundingClientRect();
        const x = (e.touches[0].clientX + e.touches[1].clientX) / 2 - box.left;
        const y = (e.touches[0].clientY + e.touches[1].clientY) / 2 - box.top;
        this.zoom?.zoomAtPointBy(now / pinch.spread, { x, y });
      }
      pinch.spread = now;
    }, { capture: true, passive: false });
    const lifted = (e) => {
      if (pinch && e.touches.length === 0) pinch = null;
    };
    this.canvas.addEventListener("touchend", lifted, { capture: true });
    this.canvas.addEventListener("touchcancel", lifted, { capture: true });
  }

  key_(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const steps = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (e.key === "f") this.fit();
    else if (e.key === "+" || e.key === "=") this.zoom?.zoomIn();
    else if (e.key === "-") this.zoom?.zoomOut();
    else if (e.key === "0") this.actualSize();
    else if (e.key in steps && this.data?.stepping) this.api.setTriggerValue?.("step", steps[e.key]);
    else return;
    e.preventDefault();
  }

  hover(e) {
    const node = e.target.closest("g.node");
    const edge = node ? null : e.target.closest("g.edge");
    const tips = node ? this.data?.nodes : edge && this.data?.edges;
    const id = (node || edge)?.dataset.gvId;
    const text = tips && Object.hasOwn(tips, id) ? tips[id] : null;
    if (!text) {
      this.tip.classList.add("gv-hidden");
      return;
    }
    this.tip.textContent = text;
    this.tip.classList.remove("gv-hidden");
    const box = this.root.getBoundingClientRect();
    const x = Math.min(e.clientX - box.left + 14, box.width - this.tip.offsetWidth - 4);
    this.tip.style.left = `${Math.max(4, x)}px`;
    this.tip.style.top = `${e.clientY - box.top + 16}px`;
  }

  fit() {
    if (!this.hasSize() || !this.ready()) return;
    this.zoom.resize();
    this.zoom.fit();
    this.zoom.center();
  }

  actualSize() {
    if (!this.zoom) return;
    const real = this.zoom.getSizes().realZoom;
    if (real > 0) this.zoom.zoom(this.zoom.getZoom() / real);
  }

  // --- what changes without a new layout ---------------------------------------------------
  update(data, api) {
    this.data = data;
    this.api = api;
    // The server drew the graph for the page theme it knew; a dark page it did not know of
    // gets the dark graph (the user's own choice of theme, if any, still wins there).
    const dark = pageIsDark(this.root);
    if (dark !== null && dark !== data.pageDark && this.reportedDark !== dark) {
      this.reportedDark = dark;
      api.setTriggerValue?.("pageDark", dark);
    }
    this.root.style.setProperty("--gv-current", data.colors.current);
    this.root.style.setProperty("--gv-traversed", data.colors.traversed);
    this.canvas.classList.toggle("gv-faded", !!data.stale);
    const overlay = data.overlay || {};
    const hidden = new Set(overlay.hidden || []);
    const noGrad = new Set(overlay.noGrad || []);
    const traversed = new Set(overlay.traversed || []);
    const gradFill = (data.colors.grad || "").toLowerCase();
    for (const [id, groups] of this.nodes) {
      for (const g of groups) {
        g.classList.toggle("gv-hidden", hidden.has(id));
        g.classList.toggle("gv-current", id === overlay.current);
        for (const text of g.querySelectorAll("text")) {
          const isGrad = (text.getAttribute("fill") || "").toLowerCase() === gradFill;
          if (isGrad) text.classList.toggle("gv-hidden", noGrad.has(id));
        }
      }
    }
    for (const [id, groups] of this.edges) {
      const [src, dst] = id.split("->");
      for (const g of groups) {
        g.classList.toggle("gv-hidden", hidden.has(src) || hidden.has(dst));
        g.classList.toggle("gv-traversed", traversed.has(id));
      }
    }
    if (overlay.current && data.fill && data.stepping && overlay.current !== this.shownStep) {
      this.pageToGraph(data);
    }
    this.shownStep = overlay.current;
    if (overlay.current) this.bringIntoView(overlay.current);
  }

  pageToGraph(data) {
    // On a projector each step scrolls the page to the graph, with the step controls above
    // it and the step's explanation below it on the same screen (the editor above scrolls
    // away).
    const top = this.canvas.getBoundingClientRect().top;
    if (top >= 0 && top <= data.fillTop + 40) return;
    this.canvas.style.scrollMarginTop = `${data.fillTop}px`;
    this.canvas.scrollIntoView({ block: "start", behavior: "instant" });
  }

  bringIntoView(id) {
    const g = this.nodes.get(id)?.[0];
    if (!g || !this.zoom || !this.hasSize()) return;
    const node = g.getBoundingClientRect();
    const view = this.canvas.getBoundingClientRect();
    const inside =
      node.left >= view.left && node.right <= view.right &&
      node.top >= view.top && node.bottom <= view.bottom;
    if (inside) return;
    this.zoom.panBy({
      x: view.left + view.width / 2 - (node.left + node.width / 2),
      y: view.top + view.height / 2 - (node.top + node.height / 2),
    });
  }

  destroy() {
    window.removeEventListener("resize", this.onWindow);
    this.resized.disconnect();
    this.zoom?.destroy();
  }
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  const root = parentElement.querySelector(".gv");
  if (!root || !data) return;
  let view = root.gvView;
  if (!view || view.key !== data.key) {
    view?.destroy();
    view = root.gvView = new GraphView(root, data);
  }
  view.update(data, { setStateValue, setTriggerValue });
}
