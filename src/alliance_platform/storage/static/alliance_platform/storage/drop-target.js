/*
 * Dropping files onto a widget. Without preventDefault on dragenter/dragover the browser would open a dropped
 * file itself, and dragleave fires for every child the pointer crosses, so "is something dragged over us" needs
 * a counter. Both widgets (one file, several files) use this.
 */

/** Call `onDrop(files)` when files are dropped on `root`; mark it `is-dragover` while they are dragged over it. */
export function watchDrops(root, { isDisabled, onDrop }) {
  let depth = 0;
  const handle = (event) => {
    const types = Array.from(event.dataTransfer?.types ?? []);
    if (!types.includes("Files")) return;
    event.preventDefault();
    if (event.type === "dragenter") depth += 1;
    if (event.type === "dragleave") depth = Math.max(0, depth - 1);
    if (event.type === "dragover") event.dataTransfer.dropEffect = isDisabled() ? "none" : "copy";
    if (event.type === "drop") {
      depth = 0;
      onDrop(event.dataTransfer.files);
    }
    root.classList.toggle("is-dragover", depth > 0 && !isDisabled());
  };
  for (const type of ["dragenter", "dragover", "dragleave", "drop"]) root.addEventListener(type, handle);
}
