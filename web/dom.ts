/** Small DOM helpers: typed lookups by id, elements built without HTML strings, and the status line. */

/** The element with this id, checked to be of the expected kind. */
export function byId<T extends HTMLElement = HTMLElement>(id: string, kind?: new () => T): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  if (kind && !(element instanceof kind)) throw new Error(`#${id} is not a ${kind.name}`);
  return element as T;
}

/** Build an element with text (never HTML) and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { text?: string; className?: string; attrs?: Record<string, string> } = {}, children: Node[] = []): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.text !== undefined) element.textContent = props.text;
  if (props.className !== undefined) element.className = props.className;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  for (const child of children) element.append(child);
  return element;
}

/** Show or hide elements. */
export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

/** Kinds of status message. */
export type StatusKind = 'info' | 'success' | 'error';

/** The page's status line (an `aria-live` region): tell screen readers and sighted users alike. */
export function setStatus(text: string, kind: StatusKind = 'info'): void {
  const status = byId('status');
  status.dataset.kind = kind;
  // Cleared first so that the same message twice is announced twice.
  status.textContent = '';
  window.setTimeout(() => {
    status.textContent = text;
  }, 30);
}

/** Disable a form's controls while a request runs; returns a function that enables them again. */
export function busy(element: HTMLElement): () => void {
  const controls = [...element.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')].filter((c) => !c.disabled);
  for (const c of controls) c.disabled = true;
  element.setAttribute('aria-busy', 'true');
  return () => {
    for (const c of controls) c.disabled = false;
    element.removeAttribute('aria-busy');
  };
}

/** Local date and time, short. */
export function formatDate(value: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) return '—';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "45 seconds", "2 minutes", "3 hours": a wait, rounded up. */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return `${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hours`;
}

/** Copy text to the clipboard; false when the browser does not allow it (not a secure context). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (!navigator.clipboard) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Select the text of an element, so the user can copy it by hand. */
export function selectText(element: HTMLElement): void {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

/** Offer text as a file download. */
export function downloadText(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = el('a', { attrs: { href: url, download: filename } });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
