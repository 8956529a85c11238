import { linkMicrosoftReferral } from './microsoftStep';
import { createPartnerReferral } from './partnerStep';
import type { StepFunction } from './stepResult';
import type { StepName } from './stepTable';

/** The work of each step of the table (the compiler asks for one per row). */
export const STEP_FUNCTIONS = {
  partner: createPartnerReferral,
  microsoft: linkMicrosoftReferral,
} as const satisfies Record<StepName, StepFunction>;
