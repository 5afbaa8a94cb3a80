/* Pictures of the whole slide laid over it as layers of their own (the job's tissue outline and
 * its heatmap): fetched with the key, cut to the part the Deep Zoom image shows, shown from
 * memory, and switched on and off by their opacity. */
import { api } from "../api.js";
import { alive, onLeave } from "../lifecycle.js";

/* The part of a picture of the whole slide (level 0 at the picture's scale, perhaps with a
 * legend band below it, as heatmap.png has, which may make the file wider than the picture)
 * that the Deep Zoom image covers: level 0 from `info.offset`, `info.width` by `info.height`.
 * `pictureWidth`: the slide picture's own width (tissue.png's, which has no legend). Resolves
 * a PNG blob. */
async function slidePart(blob, slide, info, pictureWidth) {
  const picture = await createImageBitmap(blob);
  const scale = (pictureWidth || picture.width) / slide.width;  // picture px per level-0 px
  const [offX, offY] = info.offset || [0, 0];
  const sx = offX * scale;
  const sy = offY * scale;
  const sw = Math.min(info.width * scale, picture.width - sx);
  const sh = Math.min(info.height * scale, slide.height * scale - sy, picture.height - sy);
  if (!(sw >= 1 && sh >= 1)) throw new Error("the picture does not cover the slide");
  const crop = document.createElement("canvas");
  crop.width = Math.round(sw);
  crop.height = Math.round(sh);
  crop.getContext("2d").drawImage(picture, sx, sy, sw, sh, 0, 0, crop.width, crop.height);
  return new Promise((resolve) => crop.toBlob(resolve, "image/png"));
}

/* One picture layer: `path` (an API file), shown at `opacity` when on. It is fetched the first
 * time it is on once the slide has opened. `index`: its place among the viewer's images (1:
 * just above the slide; none: on top). onReady() once it is in the viewer; onFail(error) if
 * it cannot be. */
export function pictureLayer(viewer, { path, slide, info, token, opacity, index, onReady, onFail,
                                       pictureWidth }) {
  let item = null;
  let state = "waiting";  // until the slide opens; then idle, loading, ready or failed
  let shown = false;

  const apply = () => { if (item) item.setOpacity(shown ? opacity : 0); };
  const failed = (error) => {
    state = "failed";
    if (alive(token)) onFail(error);
  };

  async function load() {
    state = "loading";
    try {
      const blob = await (await api(path)).blob();
      const width = pictureWidth ? await pictureWidth() : null;
      const url = URL.createObjectURL(await slidePart(blob, slide, info, width));
      onLeave(() => URL.revokeObjectURL(url));
      if (!alive(token)) return;
      viewer.addSimpleImage({
        url, x: 0, y: 0, width: 1, index, opacity: shown ? opacity : 0, loadTilesWithAjax: false,
        success: (event) => { item = event.item; state = "ready"; apply(); if (onReady) onReady(); },
        error: (event) => failed(new Error(event.message || "the picture did not open")),
      });
    } catch (error) {
      failed(error);
    }
  }

  return {
    opened() {
      state = "idle";
      if (shown) load();
    },
    show(on) {
      shown = on;
      if (state === "ready") apply();
      else if (on && state === "idle") load();
    },
  };
}
