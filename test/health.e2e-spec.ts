import { DataSource } from 'typeorm';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';

describe('health', () => {
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    const through = await TcpProxy.inFrontOf(process.env.E2E_DATABASE_URL!);
    proxy = through.proxy;
    t = await startTestApp(testEnvironment({ DATABASE_URL: through.url }));
  });
  afterAll(async () => {
    await t?.app.close();
    await proxy?.stop();
  });

  it('GET /health/live answers 200', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
  });

  it('GET /health/ready answers 200 with the database up and migrations applied', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      details: { database: { status: 'up' }, migrations: { status: 'up' } },
    });
  });

  it('readiness turns 503 while the database is away and 200 when it returns', async () => {
    await proxy.stop();
    const down = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      details: { database: { status: 'down' } },
    });
    // Liveness does not depend on the database.
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);

    await proxy.start();
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  });

  it('the schema was created by migrations', async () => {
    const dataSource = t.app.get(DataSource);
    const rows = await dataSource.query('SELECT count(*)::int AS n FROM installation');
    expect(rows).toEqual([{ n: 1 }]);
    expect(await dataSource.showMigrations()).toBe(false);
  });
});
