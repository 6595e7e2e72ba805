ALTER TABLE "claims" ADD COLUMN "attestation_subject" text;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "attestation_issuer" text;