// Lambda entry point: a bin's done/K.json created under runs/ loads that bin into Postgres.
export { loaderHandler as handler } from "../src/db/lambda.ts";
