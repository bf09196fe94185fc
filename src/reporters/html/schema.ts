import { z } from 'zod';

export const HtmlReporterOptions = z.strictObject({}).meta({ title: 'html reporter options' });
