import { z } from 'zod';

export const NavigatorReporterOptions = z.strictObject({}).meta({ title: 'navigator reporter options' });
