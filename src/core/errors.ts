// The error a command reports as "your input or your files need attention" (exit 1), as opposed
// to a bug (exit 2). Here, below the CLI and the installer, so that both can throw it without
// importing each other.

export class UserError extends Error {}
