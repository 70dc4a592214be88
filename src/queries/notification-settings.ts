import type { Knex } from 'knex';

export interface NotificationSettingsRow {
  user_id: string;
  kinds: string[];
  quiet_start: number | null;
  quiet_end: number | null;
  updated_at: Date;
}

export const notificationSettingsQueries = {
  of: (db: Knex, userId: string): Promise<NotificationSettingsRow | undefined> => db('notification_settings').where({ user_id: userId }).first(),

  save: async (db: Knex, row: Pick<NotificationSettingsRow, 'user_id' | 'kinds' | 'quiet_start' | 'quiet_end'>): Promise<NotificationSettingsRow> => {
    const values = { ...row, kinds: JSON.stringify(row.kinds), updated_at: db.fn.now() };
    const [saved] = await db('notification_settings').insert(values).onConflict('user_id').merge(values).returning('*');
    return saved as NotificationSettingsRow;
  },

  exportRows: (db: Knex, userId: string): Promise<Array<Pick<NotificationSettingsRow, 'kinds' | 'quiet_start' | 'quiet_end' | 'updated_at'>>> =>
    db('notification_settings').where({ user_id: userId }).select('kinds', 'quiet_start', 'quiet_end', 'updated_at'),
};
