/**
 * The catalogue key of each kind of device, as a device says it (device_kind), its user agent
 * tells, or an app password's device type names it ("browser extension").
 */
export const deviceKindKeys: Record<string, string> = {
  phone: 'device.kind.phone',
  tablet: 'device.kind.tablet',
  desktop: 'device.kind.desktop',
  computer: 'device.kind.computer',
  watch: 'device.kind.watch',
  console: 'device.kind.console',
  tv: 'device.kind.tv',
  browser_extension: 'device.kind.browser_extension',
  'browser extension': 'device.kind.browser_extension',
  iot: 'device.kind.iot',
  other: 'device.kind.other',
};
