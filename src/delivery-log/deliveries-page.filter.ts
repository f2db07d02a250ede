import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { sendMessagePage } from './deliveries-pages';

/** The delivery log is read by people in a browser: a failure is a page, never JSON or a stack. */
@Catch()
export class DeliveriesPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('DeliveryLog');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    if (status >= 500) this.logger.error(exception);
    if (reply.sent) return;
    void sendMessagePage(reply, {
      status,
      title: status >= 500 ? 'The delivery log could not be read' : 'This page does not exist',
      message:
        status >= 500
          ? 'The bridge hit an internal error while reading its delivery log. The error is in its log.'
          : 'The bridge has no page at this address.',
      next: 'Open the delivery log from a thread in Flowdock ("Delivery log"), or try again in a minute.',
    });
  }
}
