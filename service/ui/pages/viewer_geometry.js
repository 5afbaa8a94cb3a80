/* Level-0 slide pixels in the viewer: where they are on screen, which of them are in view, and
 * the scale bar that says how long they are.
 *
 * The slide is the viewer's first image (the picture layers are added only once it has opened),
 * and its conversions are used, not the viewport's: those are right only while the viewer holds
 * a single image. The Deep Zoom image may show only the scanned area: its (0, 0) is level-0
 * `info.offset`. */
import { h } from "../dom.js";

export function slideGeometry(viewer, info) {
  const [offX, offY] = info.offset || [0, 0];
  let slide = null;  // the slide's TiledImage, once open
  const point = (x, y) => new window.OpenSeadragon.Point(x, y);
  return {
    opened() { slide = viewer.world.getItemAt(0); },

    /* Level-0 px -> screen px: screen = o + k * level0; null until the slide is open. */
    toScreen() {
      if (!slide) return null;
      const origin = slide.imageToViewerElementCoordinates(point(-offX, -offY));
      const unit = slide.imageToViewerElementCoordinates(point(1000 - offX, -offY));
      return { ox: origin.x, oy: origin.y, k: (unit.x - origin.x) / 1000 };
    },

    /* The level-0 rectangle in view, within the Deep Zoom image: [x, y, x1, y1], or null. */
    inView() {
      if (!slide) return null;
      const bounds = slide.viewportToImageRectangle(viewer.viewport.getBounds(true));
      const x = Math.max(0, Math.floor(bounds.x)) + offX;
      const y = Math.max(0, Math.floor(bounds.y)) + offY;
      const x1 = Math.min(info.width, Math.ceil(bounds.x + bounds.width)) + offX;
      const y1 = Math.min(info.height, Math.ceil(bounds.y + bounds.height)) + offY;
      return [x, y, x1, y1];
    },
  };
}

/* A round length: 1, 2 or 5 times a power of ten, at most `um`. */
function niceLength(um) {
  const power = Math.pow(10, Math.floor(Math.log10(um)));
  for (const step of [5, 2, 1]) if (step * power <= um) return step * power;
  return power;
}

/* A bar about 140 screen px long, labelled in µm or mm; hidden when the slide states no scale. */
export function scaleBar(info, geometry) {
  const element = h("div", { class: "scalebar", "aria-hidden": "true" },
    h("span", { class: "label" }), h("div", { class: "bar" }));
  function draw() {
    if (!info.mpp) { element.hidden = true; return; }
    const at = geometry.toScreen();  // at.k: screen px per level-0 px
    if (!at || !(at.k > 0)) return;
    const umPerScreenPx = info.mpp / at.k;
    const um = niceLength(umPerScreenPx * 140);
    element.querySelector(".bar").style.width = `${um / umPerScreenPx}px`;
    element.querySelector(".label").textContent = um >= 1000 ? `${um / 1000} mm` : `${um} µm`;
  }
  return { element, draw };
}
