import { ArgumentsHost, BadRequestException, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { sendMessagePage } from './deliveries-pages';

/** An address of the delivery log that names no repository or item (see the DTOs in dto/). */
export class DeliveryAddressException extends BadRequestException {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** Says what is wrong with the address, and how to write one, before any sign-in. */
@Catch(DeliveryAddressException)
export class DeliveryAddressFilter implements ExceptionFilter {
  catch(exception: DeliveryAddressException, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void sendMessagePage(reply, {
      status: 400,
      title: 'This is not a delivery log address',
      message: `The address names no GitHub repository or item: ${exception.problems.join('; ')}.`,
      next: 'Open the delivery log from a thread in Flowdock ("Delivery log"), or write the address as /deliveries/<owner>/<repo>/<number> or /deliveries?repo=<owner>/<repo>.',
    });
  }
}
