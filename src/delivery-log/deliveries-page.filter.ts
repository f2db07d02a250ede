import { BadRequestException, Catch, HttpException } from '@nestjs/common';
import { HtmlErrorPageFilter } from '../http/html-error-page.filter';
import { sendMessagePage } from './deliveries-pages';

const NEXT =
  'Open the delivery log from a thread in Flowdock ("Delivery log"), or try again in a minute.';

/** An address of the delivery log that names no repository or item (see the DTOs in dto/). */
export class DeliveryAddressException extends BadRequestException {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * The delivery log's failure pages; an address that names no repository or
 * item says what is wrong with it, and how to write one, before any sign-in.
 */
@Catch()
export class DeliveriesPageFilter extends HtmlErrorPageFilter {
  constructor() {
    super({
      context: 'DeliveryLog',
      send: sendMessagePage,
      named: (exception) =>
        exception instanceof DeliveryAddressException
          ? {
              page: {
                status: 400,
                title: 'This is not a delivery log address',
                message: `The address names no GitHub repository or item: ${exception.problems.join('; ')}.`,
                next: 'Open the delivery log from a thread in Flowdock ("Delivery log"), or write the address as /deliveries/<owner>/<repo>/<number> or /deliveries?repo=<owner>/<repo>.',
              },
            }
          : undefined,
      refused: (exception) => ({
        page: {
          status: exception.getStatus(),
          title: 'This page does not exist',
          message: 'The bridge has no page at this address.',
          next: NEXT,
        },
      }),
      unexpected: (exception) => ({
        status: exception instanceof HttpException ? exception.getStatus() : 500,
        title: 'The delivery log could not be read',
        message:
          'The bridge hit an internal error while reading its delivery log. The error is in its log.',
        next: NEXT,
      }),
    });
  }
}
