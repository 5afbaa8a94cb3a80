/* Numbers, moments and names as the pages write them. */

/* A moment in the browser's time zone: the time alone when it is today. */
export function when(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  if (isNaN(moment)) return iso;
  const today = moment.toDateString() === new Date().toDateString();
  return today ? moment.toLocaleTimeString() : moment.toLocaleString();
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function pct(value, digits) {
  return value === null || value === undefined ? "" : `${value.toFixed(digits ?? 1)} %`;
}

/* A slide's label made safe as the start of a file name. */
export function fileStem(label) {
  const stem = (label || "slide").replace(/\.[^.]*$/, "").replace(/[\\/:*?"<>|\s]+/g, "_");
  return stem || "slide";
}
