CREATE TABLE "cluster_nodes" (
	"name" text PRIMARY KEY NOT NULL,
	"wg_endpoint" text NOT NULL,
	"cluster_url" text,
	"started_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"lease_expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "device_holders" (
	"device_id" uuid PRIMARY KEY NOT NULL,
	"node_name" text NOT NULL,
	"held_since" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hub_settings" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "device_holders" ADD CONSTRAINT "device_holders_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "device_holders_node_idx" ON "device_holders" USING btree ("node_name");