import { UAParser } from 'ua-parser-js';

export interface DeviceDescription {
  /** What a person would call it: "PlayStation 5", "Chrome on macOS", "Safari on iPhone". */
  name: string;
  /** computer, phone, tablet, console, tv, watch, or unknown: picks the icon. */
  kind: 'computer' | 'phone' | 'tablet' | 'console' | 'tv' | 'watch' | 'unknown';
  /** For "<browser> on <place>": its two parts, so a page can word the "on" in its language. */
  browser?: string;
  place?: string;
}

const kinds: Record<string, DeviceDescription['kind']> = {
  mobile: 'phone',
  tablet: 'tablet',
  console: 'console',
  smarttv: 'tv',
  wearable: 'watch',
  xr: 'watch',
  embedded: 'unknown',
};

// Parsing a user agent takes about half a millisecond, and a sign-in names its browser more than
// once: the last few hundred are kept (a person's browser sends the same one every time).
const described = new Map<string, DeviceDescription>();
const describedKept = 500;

/** Names a device and browser from a user agent, in words a person recognises. */
export function describeUserAgent(userAgent: string | null | undefined): DeviceDescription {
  if (!userAgent) return { name: 'Unknown device', kind: 'unknown' };
  const kept = described.get(userAgent);
  if (kept) return { ...kept };
  const description = describeOnce(userAgent);
  if (userAgent.length <= 1024) {
    if (described.size >= describedKept) described.delete(described.keys().next().value!);
    described.set(userAgent, description);
  }
  return { ...description };
}

function describeOnce(userAgent: string): DeviceDescription {
  const { browser, os, device } = UAParser(userAgent);
  const kind = device.type ? (kinds[device.type] ?? 'unknown') : os.name ? 'computer' : 'unknown';
  const model = device.model ? (device.vendor && !device.model.startsWith(device.vendor) && kind !== 'phone' && kind !== 'tablet' ? `${device.vendor} ${device.model}` : device.model) : null;
  // Consoles, TVs and watches are named by what they are; the browser inside is beside the point.
  if ((kind === 'console' || kind === 'tv' || kind === 'watch') && model) return { name: model.replace(/^Sony /, ''), kind };
  const browserName = browser.name?.replace(/^Mobile /, '').replace(/ Headless$/, '').replace(/^Chrome Headless$/, 'Chrome');
  const place = (kind === 'phone' || kind === 'tablet') && model ? model : os.name;
  if (browserName && place) return { name: `${browserName} on ${place}`, kind, browser: browserName, place };
  if (browserName) return { name: browserName, kind };
  if (place) return { name: place, kind };
  return { name: userAgent.split(/[\s/]/)[0]?.slice(0, 40) || 'Unknown device', kind };
}
