/* The cell classes in words and colours (the colours of scoring/class_colors.py, so the viewer,
 * the overlay and the GeoJSON agree). */
import { h } from "./dom.js";

export const CLASS_RGB = {
  tumor_pos: [220, 40, 40],
  tumor_neg: [40, 90, 220],
  nontumor_pos: [240, 160, 30],
  nontumor_neg: [120, 200, 120],
};
const CLASS_NAMES = {
  tumor_pos: "Tumour, PD-L1 positive",
  tumor_neg: "Tumour, PD-L1 negative",
  nontumor_pos: "Non-tumour, PD-L1 positive",
  nontumor_neg: "Non-tumour, PD-L1 negative",
};
const FALLBACK_RGB = [[160, 60, 200], [0, 170, 170], [120, 80, 40], [90, 90, 90]];

export function className(name) { return CLASS_NAMES[name] || name.replace(/_/g, " "); }

/* The colour of a class; a model's own class names get one of the fallbacks by position. */
export function classRgb(name, index) {
  return CLASS_RGB[name] || FALLBACK_RGB[index % FALLBACK_RGB.length];
}

/* A small square of one colour, shown beside a class's name. */
export function swatch(rgb) {
  return h("span", { class: "swatch", style: `background: rgb(${rgb.join(",")})` });
}
