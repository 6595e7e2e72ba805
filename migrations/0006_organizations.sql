CREATE TABLE "organization_members" (
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organization_members_organization_id_user_id_pk" PRIMARY KEY("organization_id","user_id"),
	CONSTRAINT "organization_members_role_check" CHECK ("organization_members"."role" in ('owner', 'admin', 'technician', 'viewer'))
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Data migration (hand-written): every existing row moves into the default organisation (the id is
-- DEFAULT_ORGANIZATION_ID in libs/db). The columns get it as a default while they are added, and
-- lose the default at once, so that new rows must name their organisation.
INSERT INTO "organizations" ("id", "name") VALUES ('00000000-0000-4000-8000-000000000001', 'Default');--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "organization_id" uuid;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "organization_role" text;--> statement-breakpoint
ALTER TABLE "enrollment_tokens" ADD COLUMN "organization_id" uuid DEFAULT '00000000-0000-4000-8000-000000000001' NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_tokens" ALTER COLUMN "organization_id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "organization_id" uuid DEFAULT '00000000-0000-4000-8000-000000000001' NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ALTER COLUMN "organization_id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "admin_peers" ADD COLUMN "organization_id" uuid DEFAULT '00000000-0000-4000-8000-000000000001' NOT NULL;--> statement-breakpoint
ALTER TABLE "admin_peers" ALTER COLUMN "organization_id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "access_log" ADD COLUMN "organization_id" uuid DEFAULT '00000000-0000-4000-8000-000000000001' NOT NULL;--> statement-breakpoint
ALTER TABLE "access_log" ALTER COLUMN "organization_id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "organization_members" ADD CONSTRAINT "organization_members_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_members" ADD CONSTRAINT "organization_members_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "organization_members_user_idx" ON "organization_members" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_name_unique" ON "organizations" USING btree (lower("name"));--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "enrollment_tokens" ADD CONSTRAINT "enrollment_tokens_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "admin_peers" ADD CONSTRAINT "admin_peers_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_tokens_organization_idx" ON "api_tokens" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "enrollment_tokens_organization_idx" ON "enrollment_tokens" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "devices_organization_serial_idx" ON "devices" USING btree ("organization_id","serial");--> statement-breakpoint
CREATE INDEX "access_log_organization_at_idx" ON "access_log" USING btree ("organization_id","at");--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_organization_role_check" CHECK (("api_tokens"."organization_id" is null) = ("api_tokens"."organization_role" is null));--> statement-breakpoint
-- Today's administrators stay hub-wide administrators (users.role = 'admin' is the superadmin) and
-- become owners of the default organisation too. Other accounts keep exactly what they had: the
-- devices they own and their grants (which do not depend on a membership); no organisation role is
-- given to them, since each of the four roles would let them see the whole default fleet.
INSERT INTO "organization_members" ("organization_id", "user_id", "role") SELECT '00000000-0000-4000-8000-000000000001', "id", 'owner' FROM "users" WHERE "role" = 'admin';
