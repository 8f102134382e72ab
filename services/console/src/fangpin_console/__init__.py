"""The console (工作台): accounts, sign-in, token signing, and the pages people work in."""
