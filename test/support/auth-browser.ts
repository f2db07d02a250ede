import { NestFastifyApplication } from '@nestjs/platform-fastify';

export interface Page {
  url: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  /** Location header of a redirect, absolute. */
  location?: string;
}

interface Cookie {
  value: string;
  path: string;
}

/**
 * A browser with a cookie jar, for the linking flow: URLs under the bridge's
 * PUBLIC_URL go to the app through inject(), others (the simulators on
 * loopback) through fetch. It follows nothing by itself, so tests see every
 * hop; `follow` walks redirects when the hops do not matter.
 */
export class TestBrowser {
  readonly cookies = new Map<string, Cookie>();
  /** Every URL this browser requested (for the "nothing secret in logs" check). */
  readonly visited: string[] = [];

  constructor(
    private readonly app: NestFastifyApplication,
    private readonly publicUrl: string,
  ) {}

  async get(url: string): Promise<Page> {
    return this.request('GET', url);
  }

  async post(url: string, form: Record<string, string>): Promise<Page> {
    return this.request('POST', url, new URLSearchParams(form).toString());
  }

  async follow(url: string, maxHops = 10): Promise<Page> {
    let page = await this.get(url);
    for (let hop = 0; page.location && hop < maxHops; hop++) page = await this.get(page.location);
    return page;
  }

  /** Submits a simulator's consent form: its hidden fields plus the user's choices. */
  async submitConsent(page: Page, choices: Record<string, string>): Promise<Page> {
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
    if (!action) throw new Error(`No consent form at ${page.url}: ${page.body.slice(0, 200)}`);
    const fields: Record<string, string> = {};
    for (const [, name, value] of page.body.matchAll(
      /<input type="hidden" name="([^"]+)" value="([^"]*)">/g,
    )) {
      fields[name] = unescapeHtml(value);
    }
    return this.post(new URL(action, page.url).toString(), { ...fields, ...choices });
  }

  private async request(method: string, url: string, form?: string): Promise<Page> {
    this.visited.push(url);
    if (url.startsWith(this.publicUrl)) {
      const path = url.slice(this.publicUrl.length) || '/';
      const cookie = this.cookieHeader(path);
      const res = await this.app.inject({
        method: method as 'GET' | 'POST',
        url: path,
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        payload: form,
      });
      this.store(res.headers['set-cookie']);
      const location = res.headers.location;
      return {
        url,
        status: res.statusCode,
        headers: res.headers,
        body: res.body,
        location: location ? new URL(location, url).toString() : undefined,
      };
    }
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
      body: form,
    });
    const location = res.headers.get('location');
    return {
      url,
      status: res.status,
      headers: Object.fromEntries(res.headers.entries()),
      body: await res.text(),
      location: location ? new URL(location, url).toString() : undefined,
    };
  }

  private cookieHeader(path: string): string {
    return [...this.cookies.entries()]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private store(setCookie: string | string[] | undefined): void {
    for (const line of [setCookie ?? []].flat()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (key: string) =>
        attributes.find((a) => a.toLowerCase().startsWith(`${key.toLowerCase()}=`))?.split('=')[1];
      const expires = attr('Expires');
      const removed =
        attr('Max-Age') === '0' || value === '' || (expires && Date.parse(expires) <= Date.now());
      if (removed) this.cookies.delete(name);
      else this.cookies.set(name, { value, path: attr('Path') ?? '/' });
    }
  }
}

function unescapeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}
