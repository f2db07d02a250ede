import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';

/** Every error response's body. */
interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  /** Structured detail a client can act on (e.g. which health check failed). */
  details?: unknown;
}

/**
 * Gives every error response the same JSON shape. HTTP exceptions keep their
 * status and message; Fastify's own errors (malformed JSON, unsupported media
 * type, body too large) keep their 4xx status; anything else becomes a 500 whose
 * body says nothing about the cause, which is logged with the request id.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = this.toBody(exception);
    if (body.statusCode >= 500) this.logger.error(exception);
    if (reply.sent) return;
    void reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
  }

  toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const body: ErrorBody = {
        statusCode,
        error: STATUS_CODES[statusCode] ?? 'Error',
        message: messageOf(response) ?? exception.message,
      };
      if (typeof response === 'object' && response !== null && 'details' in response) {
        body.details = response.details;
      }
      return body;
    }
    const statusCode = fastifyClientErrorStatus(exception);
    if (statusCode !== undefined) {
      return {
        statusCode,
        error: STATUS_CODES[statusCode] ?? 'Error',
        message: (exception as Error).message,
      };
    }
    return { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' };
  }
}

function messageOf(response: string | object): string | undefined {
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : undefined;
}

/** Fastify's client errors carry an FST_ code and a 4xx statusCode; their messages are safe to show. */
function fastifyClientErrorStatus(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { code, statusCode } = exception as { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_')) return undefined;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  return statusCode;
}
