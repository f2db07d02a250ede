import { IsOptional, IsString } from 'class-validator';

/**
 * A provider's answer at an OAuth callback: `code` and `state`, or `error`
 * (`access_denied` when the person declined). Which combination is usable is
 * the callback's to say; a repeated parameter is refused here.
 */
export class OAuthCallbackQuery {
  @IsOptional()
  @IsString({ message: 'state must be a single value' })
  state?: string;

  @IsOptional()
  @IsString({ message: 'code must be a single value' })
  code?: string;

  @IsOptional()
  @IsString({ message: 'error must be a single value' })
  error?: string;
}
