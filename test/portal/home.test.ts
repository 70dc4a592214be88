import test from 'ava';
import { grant, makeService } from '../helpers/fixtures.ts';
import { assertAccessible, signedInBrowser } from './portal-helpers.ts';

test('home greets the person, shows their services as tiles, the security check-up and the latest activity', async (t) => {
  const { hub, person, page } = await signedInBrowser(t, { name: 'Grace Hopper' });
  await makeService(hub, 'vezepygame');
  await hub.db('services').where({ slug: 'vezepygame' }).update({ name: 'VEZEPyGame', url: 'https://game.veze.test' });
  await grant(hub, person.email, 'vezepygame', 'pro');
  await page.goto(`${hub.url}/account`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Welcome, Grace Hopper');
  const tile = page.locator('.service-tile', { hasText: 'VEZEPyGame' });
  t.regex(await tile.textContent() ?? '', /pro/);
  t.regex(await tile.textContent() ?? '', /Active/);
  t.is(await tile.getByRole('link', { name: /Open/ }).getAttribute('href'), 'https://game.veze.test');
  const security = page.locator('section', { has: page.getByRole('heading', { name: 'Security', exact: true }) });
  t.regex(await security.textContent() ?? '', /2-step verification\s*Off/);
  t.truthy(await security.getByRole('link', { name: 'Turn on 2-step' }).count());
  const activity = page.locator('section', { has: page.getByRole('heading', { name: 'Latest activity' }) });
  t.regex(await activity.textContent() ?? '', /You got VEZEPyGame \(pro\)/);
  await assertAccessible(t, page);
});
