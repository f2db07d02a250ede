import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../config/app.config';
import { Readiness } from '../health/readiness';
import { HtmlPage } from '../http/html-response';
import { HomePage, renderHomePage } from './home-page';
import { PackageInfo, readPackageInfo } from './package-info';

/**
 * GET /: what this server is, whether it is ready, and where to go. It shows
 * nothing secret and no counts (of users, flows or deliveries).
 */
@Controller()
export class HomeController {
  private readonly about: PackageInfo = readPackageInfo();
  private readonly publicUrl: string;
  private readonly services: HomePage['services'];

  constructor(
    private readonly readiness: Readiness,
    config: ConfigService<AppConfig, true>,
  ) {
    this.publicUrl = config.get('publicUrl', { infer: true });
    const nodeEnv = config.get('nodeEnv', { infer: true });
    if (nodeEnv === 'development' || nodeEnv === 'test') {
      const flowdock = config.get('flowdock', { infer: true });
      const github = config.get('github', { infer: true });
      this.services = [
        { label: 'Public URL', url: this.publicUrl },
        { label: 'Flowdock API', url: flowdock.apiUrl },
        { label: 'GitHub', url: github.url },
        { label: 'GitHub API', url: github.apiUrl },
      ];
    }
  }

  @Get()
  @HtmlPage()
  async show(): Promise<string> {
    return renderHomePage({
      about: this.about,
      notReady: await this.notReady(),
      publicUrl: this.publicUrl,
      services: this.services,
    });
  }

  /** The checks of GET /health/ready that fail. */
  private async notReady(): Promise<string[]> {
    try {
      await this.readiness.check();
      return [];
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) return ['readiness check'];
      const result = error.getResponse() as { error?: Record<string, unknown> };
      const failing = Object.keys(result.error ?? {});
      return failing.length > 0 ? failing : ['readiness check'];
    }
  }
}
