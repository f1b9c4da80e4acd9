import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

/** RFC 1123 label: what Kubernetes and Rancher accept as a name, and what fits in a URL segment. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const IsDnsLabel = (description: string, example?: string) =>
  applyDecorators(
    ApiProperty({ description, example, pattern: DNS_LABEL.source, maxLength: 63 }),
    IsString(),
    Matches(DNS_LABEL, {
      message: ({ property }) =>
        `${property} must be a DNS label: lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit`,
    }),
  );
