/**
 * Cross-field rules of the referral contract, run as zod refinements on (possibly invalid) input:
 * status/substatus pairs, the Services co-sell trio, and the deal-type rules of a request.
 * Each rule reads only fields of the right type, so it never throws and reports alongside field errors.
 */
import type { z } from 'zod';
import { ReferralStatus, ReferralSubstatus } from './constants';
import { resolveDealType } from './dealTypeRules';
import { SOLUTION_PLAYS, isCataloguePair, solutionPlaysOf } from './servicesCoSellCatalogue';
import { ALLOWED_SUBSTATUS_BY_STATUS, isAllowedSubstatus } from './statusLifecycle';

/** Where a rule reports: zod's refinement context. */
export type IssueSink = Pick<z.core.$RefinementCtx, 'addIssue'>;

const SERVICES_FIELDS = ['partnerRole', 'solutionArea', 'solutionPlay'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMember<T extends Record<string, string>>(values: T, value: unknown): value is T[keyof T] {
  return typeof value === 'string' && Object.hasOwn(values, value) && values[value] === value;
}

function report(ctx: IssueSink, path: readonly (string | number)[], code: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [...path], message, params: { code } });
}

/** Status/substatus (substatus must belong to status) and the Services co-sell fields (all or none, catalogue pair). */
export function checkReferralRules(value: unknown, ctx: IssueSink): void {
  if (!isRecord(value)) return;
  const { status, substatus } = value;
  if (substatus !== undefined && status === undefined && isMember(ReferralSubstatus, substatus)) {
    report(
      ctx,
      ['substatus'],
      'status_required',
      'A substatus needs its status: give status too (New for Pending or Received).',
    );
  } else if (
    isMember(ReferralStatus, status) &&
    isMember(ReferralSubstatus, substatus) &&
    !isAllowedSubstatus(status, substatus)
  ) {
    report(
      ctx,
      ['substatus'],
      'invalid_substatus',
      `With status ${status} the substatus must be one of: ${ALLOWED_SUBSTATUS_BY_STATUS[status].join(', ')}.`,
    );
  }

  const given = SERVICES_FIELDS.filter((field) => value[field] !== undefined);
  if (given.length > 0 && given.length < SERVICES_FIELDS.length) {
    for (const field of SERVICES_FIELDS) {
      if (value[field] === undefined) {
        report(
          ctx,
          [field],
          'services_incomplete',
          'partnerRole, solutionArea and solutionPlay go together (Services co-sell): give all three or none.',
        );
      }
    }
  } else if (given.length === SERVICES_FIELDS.length) {
    const { solutionArea, solutionPlay } = value;
    if (
      typeof solutionArea === 'string' &&
      typeof solutionPlay === 'string' &&
      solutionPlaysOf(solutionArea).length > 0 &&
      SOLUTION_PLAYS.includes(solutionPlay) &&
      !isCataloguePair(solutionArea, solutionPlay)
    ) {
      report(
        ctx,
        ['solutionPlay'],
        'invalid_solution_play',
        `Not a solution play of solution area ${solutionArea}; its plays are: ${solutionPlaysOf(solutionArea).join('; ')}.`,
      );
    }
  }
}

/** The deal-type rules of a request (see dealTypeRules.ts). */
export function checkRequestRules(value: unknown, ctx: IssueSink): void {
  if (!isRecord(value)) return;
  for (const conflict of resolveDealType(value).conflicts) report(ctx, conflict.path, conflict.code, conflict.message);
}
