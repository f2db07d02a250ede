import { ClaimService } from '../src/auth/claim.service';
import { STATE_COOKIE } from '../src/auth/oauth-state.service';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Input the DTOs refuse (a repeated parameter, a missing field) before any
 * handler runs: each browser route answers its own HTML page with the status
 * it always had, and starts nothing (no cookie). Routes that only redirect
 * keep their headers and cookie.
 */
describe('request validation on the browser routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.app.close();
  });

  const get = (url: string) => t.app.inject({ method: 'GET', url });
  const postForm = (url: string, form: string) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form,
    });

  function expectPage(
    res: Awaited<ReturnType<typeof get>>,
    status: number,
    title: string,
    text?: string,
  ) {
    expect({ status: res.statusCode, title: /<h1>([^<]*)<\/h1>/.exec(res.body)?.[1] }).toEqual({
      status,
      title,
    });
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toBeUndefined();
    if (text) expect(res.body).toContain(text);
  }

  it.each([
    ['/authorization?claim=a&claim=b', 400, 'This link is not valid'],
    ['/auth/github/callback?code=a&code=b&state=s', 400, 'Sign-in could not be completed'],
    ['/auth/flowdock/callback?state=a&state=b', 400, 'Sign-in could not be completed'],
    ['/flowdock/setup?flow=a&flow=b', 400, 'No flow was named'],
    ['/flowdock/setup/callback?code=a&code=b', 400, 'Setup could not continue'],
  ])('GET %s -> %i page "%s"', async (url, status, title) => {
    expectPage(await get(url), status, title);
  });

  it('a delivery log address with ?repo= twice names the problem', async () => {
    expectPage(
      await get('/deliveries?repo=acme/widgets&repo=acme/other'),
      400,
      'This is not a delivery log address',
      'repo must be &lt;owner&gt;/&lt;repo&gt;',
    );
  });

  it('a setup form without its sealed token, or with a field twice, is a changed form', async () => {
    expectPage(
      await postForm('/flowdock/setup/connect?state=s', 'repositories=acme%2Fwidgets'),
      400,
      'This form cannot be used',
    );
    expectPage(
      await postForm(
        '/flowdock/setup/connect?state=s',
        'token=t&repositories=acme%2Fwidgets&repositories=acme%2Fother',
      ),
      400,
      'This form cannot be used',
    );
  });

  it('an unlink form with two CSRF tokens is refused like a foreign one', async () => {
    expectPage(await postForm('/account/unlink', 'csrf=a&csrf=b'), 403, 'Your session has ended');
  });

  it('GET /flowdock/setup?flow=… still redirects to Flowdock with its state cookie, uncached', async () => {
    const res = await get('/flowdock/setup?flow=acme:main&utm=dropped');
    expect(res.statusCode).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const location = new URL(String(res.headers.location));
    expect(location.pathname).toBe('/oauth/authorize');
    expect(location.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(String(res.headers['set-cookie'])).toMatch(
      new RegExp(`^${STATE_COOKIE}=[^;]+; Max-Age=600; Path=/; HttpOnly; SameSite=Lax$`),
    );
  });

  it('GET /authorization?claim=… still redirects to the Flowdock sign-in with its state cookie', async () => {
    const claim = await t.app.get(ClaimService).issueClaim('4242');
    const res = await get(`/authorization?claim=${claim}`);
    expect(res.statusCode).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(String(res.headers.location)).toContain('/oauth/authorize?');
    expect(String(res.headers['set-cookie'])).toContain(`${STATE_COOKIE}=`);
  });
});
