/**
 * A user agent in two words a person recognises: the browser (or client program) and the
 * operating system. The raw header is the client's to choose, so this is a summary for the
 * account page, never an identity: nothing is decided on it.
 */

/** What {@link summariseUserAgent} finds. */
export interface UserAgentSummary {
  /** "Firefox", "Chrome", "Edge", "Safari", "Headless Chrome", a program's name, or "Unknown client". */
  browser: string;
  /** "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS", or "Unknown system". */
  os: string;
}

/** Checked in order: Edge and Opera also say "Chrome", Chrome also says "Safari". */
const BROWSERS: readonly (readonly [RegExp, string])[] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bHeadlessChrome\//, 'Headless Chrome'],
  [/\b(?:Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

/** Checked in order: Android says "Linux", iOS says "like Mac OS X". */
const SYSTEMS: readonly (readonly [RegExp, string])[] = [
  [/\bWindows\b/, 'Windows'],
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/** A program's own user agent ("ddp-guard/0.1", "curl/8.5.0", "node"): its name, at most 40 characters. */
const PROGRAM = /^([A-Za-z][\w.-]{0,39})(?:\/[\w.-]+)?(?:\s|$)/;

export function summariseUserAgent(userAgent: string | null): UserAgentSummary {
  if (userAgent === null || userAgent.trim() === '') return { browser: 'Unknown client', os: 'Unknown system' };
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const os = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? 'Unknown system';
  if (browser !== undefined) return { browser, os };
  const program = userAgent.startsWith('Mozilla/') ? undefined : PROGRAM.exec(userAgent)?.[1];
  return { browser: program ?? 'Unknown client', os };
}
