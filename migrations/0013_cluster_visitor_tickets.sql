CREATE TABLE "visitor_tickets" (
	"hash" text PRIMARY KEY NOT NULL,
	"user_id" uuid,
	"serial" text NOT NULL,
	"single_host" boolean NOT NULL,
	"next" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "visitor_tickets" ADD CONSTRAINT "visitor_tickets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "visitor_tickets_expires_idx" ON "visitor_tickets" USING btree ("expires_at");