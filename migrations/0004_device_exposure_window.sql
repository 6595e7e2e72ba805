ALTER TABLE "devices" ADD COLUMN "exposure_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "exposure_ended_at" timestamp with time zone;