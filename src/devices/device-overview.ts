import type { Knex } from 'knex';
import { servicesOfClients } from '../catalog/client-services.ts';
import { listAppPasswords } from '../identity/app-passwords.ts';
import type { AppPasswordListing } from '../queries/app-passwords.ts';
import { deviceQueries } from '../queries/device-apps.ts';
import { listSessions, type SessionView } from '../sessions/sessions.ts';

/** One physical device as the portal's Devices page shows it. */
export interface DeviceOverview {
  id: string;
  /** As the device said it (phone, tv, browser_extension…): the page words it (device.kind.*). */
  kind: string;
  /** Null when the device gave none: the page names it by its kind and system. */
  name: string | null;
  os: string;
  appVersion: string;
  lastSeenAt: Date;
  registeredAt: Date;
  /** The services it works with: its app's, and those of its app passwords. */
  services: string[];
  /** Whether one of its app passwords works with every service. */
  everyService: boolean;
  appPasswords: AppPasswordListing[];
  /** The browser or device-flow session its app was signed in through, while it lasts. */
  sessions: SessionView[];
  /** Whether its app holds a grant the hub can end (a device registered before grants were tied has none). */
  holdsGrant: boolean;
  push: boolean;
}

/** Every live device of the person, most recently seen first, and the app passwords made for no device. */
export async function devicesOverview(db: Knex, userId: string, currentSessionUid: string | null): Promise<{ devices: DeviceOverview[]; otherAppPasswords: AppPasswordListing[] }> {
  const [rows, appPasswords, sessions] = await Promise.all([deviceQueries.active(db, userId), listAppPasswords(db, userId), listSessions(db, userId, currentSessionUid)]);
  const clients = await servicesOfClients(db, rows.flatMap((row) => (row.client_id ? [row.client_id] : [])));
  const devices = rows.map((row): DeviceOverview => {
    const own = appPasswords.filter((a) => a.device_id === row.id);
    const services = new Set<string>();
    if (row.client_id) services.add(clients.get(row.client_id)!.name);
    for (const a of own) if (a.service_name) services.add(a.service_name);
    return {
      id: row.id,
      kind: row.kind,
      name: row.name,
      os: row.os,
      appVersion: row.app_version,
      lastSeenAt: new Date(row.last_seen_at),
      registeredAt: new Date(row.created_at),
      services: [...services].sort(),
      everyService: own.some((a) => !a.service_name),
      appPasswords: own,
      sessions: sessions.filter((s) => row.session_uid !== null && s.uid === row.session_uid),
      holdsGrant: row.grant_id !== null,
      push: row.push_token !== null,
    };
  });
  const known = new Set(rows.map((row) => row.id));
  return { devices, otherAppPasswords: appPasswords.filter((a) => !a.device_id || !known.has(a.device_id)) };
}
