import { IsOptional, IsString } from 'class-validator';
import { RefusedWith } from '../../http/request-validation';
import { SetupPageException } from '../flowdock-setup.filter';
import type { SetupFormFields } from '../flowdock-setup.service';

/**
 * `POST /flowdock/setup/connect?state=…`: the repositories form. Each field
 * is one string (a repeated field is a changed form); what the text says is
 * checked by parseSetupForm, whose problems are shown in the form again.
 */
@RefusedWith(() => new SetupPageException('bad-form'))
export class SetupForm implements SetupFormFields {
  /** The person's Flowdock grant, sealed to the form's state. */
  @IsString()
  token: string;

  @IsOptional()
  @IsString()
  repositories?: string;

  @IsOptional()
  @IsString()
  events?: string;

  @IsOptional()
  @IsString()
  labels?: string;

  @IsOptional()
  @IsString()
  excludeLabels?: string;

  @IsOptional()
  @IsString()
  excludeUsers?: string;

  @IsOptional()
  @IsString()
  ignoreBots?: string;

  @IsOptional()
  @IsString()
  announceDrafts?: string;
}

/** The form's action carries its one-use state (its CSRF token). */
@RefusedWith(() => new SetupPageException('bad-form'))
export class SetupFormQuery {
  @IsOptional()
  @IsString()
  state?: string;
}
